"""Generate a synthetic Claude Code log tree, for the Claude Code import benchmark.

The tree has the layout Claude Code writes under ``~/.claude``::

    <out>/projects/<encoded cwd>/<session id>.jsonl
    <out>/projects/<encoded cwd>/<session id>/subagents/agent-<id>.jsonl

and lines shaped like Claude Code's (compact JSON, one object per line): user prompts,
assistant messages, tool results, summaries and file-history snapshots. Nothing here is a
measurement or anyone's data; text is drawn from a small vocabulary.

What makes the import non-trivial, as in real logs:

- an assistant message with several content blocks (thinking, text, tool use) is written
  as one line per block, each repeating the message id, request id and usage; the early
  lines carry partial output counts, the last one the final count;
- token counts follow Anthropic's semantics (``input_tokens`` without cache) with large
  cache reads and a 5m/1h split of cache writes;
- a quarter of the sessions start a subagent whose file holds sidechain messages with
  their own ids, and some of those files also replay a parent message (same message id,
  another request id, ``isSidechain: true``), which must not be counted twice;
- one session in twenty is a resumed session whose file starts with a copy of messages
  of an earlier session (same ids), which must not be counted twice either;
- sessions run for hours, so some cross midnight (UTC).

Default size: 50 projects x 20 sessions x 200 assistant messages: 1,238 files, about
420 MB, 205,807 requests. The output is a function of the arguments only (seeded per
session).

Usage::

    python benchmarks/generate_claude_logs.py                 # -> benchmarks/data/claude-logs
    python benchmarks/generate_claude_logs.py --projects 2 --sessions 3 --out /tmp/claude
    python benchmarks/generate_claude_logs.py --append-session  # one more session file
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data" / "claude-logs"
DEFAULT_SEED = 20250601
FIRST_DAY = datetime(2025, 9, 1, tzinfo=UTC)
SPAN_DAYS = 90
VERSIONS = ("1.0.128", "2.0.14", "2.0.31", "2.0.55")
MODELS = (
    ("claude-sonnet-4-5-20250929", 60),
    ("claude-opus-4-1-20250805", 15),
    ("claude-haiku-4-5-20251001", 15),
    ("claude-sonnet-4-20250514", 10),
)
_VOCABULARY = (
    "the function returns a list of files that match the pattern and we should check "
    "whether the cache is invalidated before the next request because the test fails on "
    "windows when the path contains spaces so I will update the parser to handle quoted "
    "arguments and add a regression test for it then run the whole suite again to make "
    "sure nothing else breaks in the build"
)
WORDS = tuple(_VOCABULARY.split())
TOOLS = ("Read", "Edit", "Bash", "Grep", "Glob", "Write", "TodoWrite")


def _json(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words))


def _hex_id(rng: random.Random, n: int) -> str:
    return "".join(
        rng.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=n)
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class SessionWriter:
    """Writes the lines of one session (and of its subagent, if any)."""

    def __init__(self, rng: random.Random, cwd: str, session_id: str, version: str):
        self.rng = rng
        self.cwd = cwd
        self.session_id = session_id
        self.version = version
        self.branch = rng.choice(("main", "main", "feature/parser", "fix/windows-paths", ""))
        self.parent_uuid: str | None = None
        self.lines: list[str] = []
        self.assistant_lines: list[str] = []  # for replays
        self.first_message: tuple[str, dict, str] | None = None

    def _envelope(self, kind: str, moment: datetime, sidechain: bool, agent_id: str | None):
        line_uuid = _uuid(self.rng)
        env: dict = {
            "parentUuid": self.parent_uuid,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": self.branch,
        }
        if agent_id:
            env["agentId"] = agent_id
        self.parent_uuid = line_uuid
        return env, line_uuid

    def user_prompt(self, moment: datetime, sidechain=False, agent_id=None) -> str:
        env, line_uuid = self._envelope("user", moment, sidechain, agent_id)
        env.update(
            type="user",
            message={"role": "user", "content": _text(self.rng, self.rng.randint(5, 30))},
            uuid=line_uuid,
            timestamp=_ts(moment),
        )
        return _json(env)

    def tool_result(self, moment: datetime, tool_id: str, sidechain=False, agent_id=None) -> str:
        env, line_uuid = self._envelope("user", moment, sidechain, agent_id)
        body = "\n".join(
            f"{n:>6}\t{_text(self.rng, self.rng.randint(3, 10))}"
            for n in range(1, self.rng.randint(2, 4))
        )
        env.update(
            type="user",
            message={
                "role": "user",
                "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": body}],
            },
            uuid=line_uuid,
            timestamp=_ts(moment),
            toolUseResult={"stdout": body, "stderr": "", "interrupted": False, "isImage": False},
        )
        return _json(env)

    def assistant_message(
        self,
        moment: datetime,
        model: str,
        usage: dict,
        blocks: list[dict],
        *,
        message_id: str,
        request_id: str,
        sidechain=False,
        agent_id=None,
    ) -> list[str]:
        """One line per content block; early lines carry partial output counts."""
        lines = []
        for index, block in enumerate(blocks):
            last = index == len(blocks) - 1
            partial = dict(usage)
            if not last:
                partial["output_tokens"] = self.rng.randint(1, max(1, usage["output_tokens"] // 4))
            env, line_uuid = self._envelope("assistant", moment, sidechain, agent_id)
            env.update(
                message={
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [block],
                    "stop_reason": ("tool_use" if block["type"] == "tool_use" else None)
                    if last
                    else None,
                    "stop_sequence": None,
                    "usage": partial,
                },
                requestId=request_id,
                type="assistant",
                uuid=line_uuid,
                timestamp=_ts(moment + timedelta(milliseconds=700 * index)),
            )
            lines.append(_json(env))
        return lines


def _usage(rng: random.Random, context: int) -> dict:
    cache_write = rng.choice((0, 0, 0, rng.randint(200, 6000)))
    one_hour = cache_write if rng.random() < 0.2 else 0
    return {
        "input_tokens": rng.randint(1, 12),
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": context,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write - one_hour,
            "ephemeral_1h_input_tokens": one_hour,
        },
        "output_tokens": rng.randint(20, 2500),
        "service_tier": "standard",
    }


def _blocks(rng: random.Random) -> list[dict]:
    blocks: list[dict] = []
    if rng.random() < 0.15:
        blocks.append(
            {
                "type": "thinking",
                "thinking": _text(rng, rng.randint(8, 30)),
                "signature": _hex_id(rng, 96),
            }
        )
    if rng.random() < 0.6:
        blocks.append({"type": "text", "text": _text(rng, rng.randint(3, 25))})
    if rng.random() < 0.7 or not blocks:
        tool = rng.choice(TOOLS)
        blocks.append(
            {
                "type": "tool_use",
                "id": "toolu_" + _hex_id(rng, 24),
                "name": tool,
                "input": {
                    "file_path": f"src/module_{rng.randint(1, 80)}.py",
                    "pattern": _text(rng, 3),
                }
                if tool != "Bash"
                else {
                    "command": "pytest -q tests/" + rng.choice(WORDS),
                    "description": _text(rng, 5),
                },
            }
        )
    return blocks


def _pick_model(rng: random.Random) -> str:
    names, weights = zip(*MODELS, strict=True)
    return rng.choices(names, weights=weights)[0]


def write_session(
    root: Path,
    project_index: int,
    session_index: int,
    messages: int,
    seed: int,
    earlier: list[list[str]],
    start: datetime | None = None,
) -> list[str]:
    """Write one session (and maybe its subagent file); returns its assistant lines."""
    rng = random.Random(f"{seed}-{project_index}-{session_index}")
    cwd = f"/home/dev/work/project-{project_index:02d}"
    project_dir = root / "projects" / cwd.replace("/", "-")
    project_dir.mkdir(parents=True, exist_ok=True)
    session_id = _uuid(rng)
    session = SessionWriter(rng, cwd, session_id, rng.choice(VERSIONS))
    if start is None:
        start = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS), seconds=rng.randrange(86_400))
    moment = start
    out: list[str] = []
    if earlier and rng.random() < 0.05:
        # a resumed session: Claude Code copies the earlier conversation into the new file
        out += rng.choice(earlier)[:30]
    model = _pick_model(rng)
    context = rng.randint(8_000, 20_000)
    tool_id = None
    assistant_lines: list[str] = []
    replay: str | None = None
    for n in range(messages):
        moment += timedelta(seconds=rng.randint(5, 75))
        out.append(session.tool_result(moment, tool_id) if tool_id else session.user_prompt(moment))
        if n % 40 == 39:
            model = _pick_model(rng)
        if rng.random() < 0.02:
            context = rng.randint(8_000, 20_000)  # compaction
        context += rng.randint(100, 3000)
        blocks = _blocks(rng)
        tool_id = blocks[-1]["id"] if blocks[-1]["type"] == "tool_use" else None
        moment += timedelta(seconds=rng.randint(2, 40))
        lines = session.assistant_message(
            moment,
            model,
            _usage(rng, context),
            blocks,
            message_id="msg_01" + _hex_id(rng, 22),
            request_id="req_011C" + _hex_id(rng, 20),
        )
        out += lines
        assistant_lines += lines
        if n == messages // 2:
            replay = lines[-1]
        if n % 50 == 49:
            out.append(
                _json(
                    {
                        "type": "file-history-snapshot",
                        "messageId": _uuid(rng),
                        "snapshot": {
                            "messageId": _uuid(rng),
                            "trackedFileBackups": {},
                            "timestamp": _ts(moment),
                        },
                        "isSnapshotUpdate": False,
                    }
                )
            )
    out.append(
        _json({"type": "summary", "summary": _text(rng, 6), "leafUuid": session.parent_uuid})
    )
    (project_dir / f"{session_id}.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")

    if rng.random() < 0.25:
        agent_id = _hex_id(rng, 8).lower()
        agent = SessionWriter(rng, cwd, session_id, session.version)
        agent.branch = session.branch
        sub: list[str] = []
        moment = start + timedelta(minutes=rng.randint(5, 60))
        if replay and rng.random() < 0.5:
            # a /btw side question replays a parent message with a new request id
            line = json.loads(replay)
            line["isSidechain"] = True
            line["agentId"] = agent_id
            line["requestId"] = "req_011C" + _hex_id(rng, 20)
            sub.append(_json(line))
        sub_context = rng.randint(3_000, 9_000)
        for _ in range(20):
            moment += timedelta(seconds=rng.randint(3, 30))
            sub.append(agent.user_prompt(moment, sidechain=True, agent_id=agent_id))
            sub_context += rng.randint(100, 2000)
            sub += agent.assistant_message(
                moment + timedelta(seconds=2),
                rng.choice(("claude-haiku-4-5-20251001", model)),
                _usage(rng, sub_context),
                _blocks(rng),
                message_id="msg_01" + _hex_id(rng, 22),
                request_id="req_011C" + _hex_id(rng, 20),
                sidechain=True,
                agent_id=agent_id,
            )
        agent_dir = project_dir / session_id / "subagents"
        agent_dir.mkdir(parents=True, exist_ok=True)
        (agent_dir / f"agent-{agent_id}.jsonl").write_text("\n".join(sub) + "\n", encoding="utf-8")
    return assistant_lines


def generate(out: Path, projects: int, sessions: int, messages: int, seed: int) -> None:
    for p in range(projects):
        earlier: list[list[str]] = []
        for s in range(sessions):
            earlier.append(write_session(out, p, s, messages, seed, earlier))
        print(f"project {p + 1}/{projects}", file=sys.stderr, end="\r")
    print(file=sys.stderr)


def append_session(out: Path, messages: int, seed: int) -> Path:
    """Write one more session into the first project, on the day after the generated span
    (as the newest session of a tree would be); returns its path."""
    before = set((out / "projects").rglob("*.jsonl"))
    index = 1_000 + len(before)
    start = FIRST_DAY + timedelta(days=SPAN_DAYS, hours=9)
    write_session(out, 0, index, messages, seed, [], start=start)
    new = sorted(set((out / "projects").rglob("*.jsonl")) - before)
    return new[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=20, help="sessions per project")
    parser.add_argument("--messages", type=int, default=200, help="assistant messages per session")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--append-session", action="store_true", help="add one session file to an existing tree"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.append_session:
        path = append_session(args.out, args.messages, args.seed)
        print(path)
        return 0
    if (args.out / "projects").exists():
        print(f"{args.out} exists; remove it first", file=sys.stderr)
        return 1
    generate(args.out, args.projects, args.sessions, args.messages, args.seed)
    size = sum(p.stat().st_size for p in args.out.rglob("*.jsonl"))
    files = sum(1 for _ in args.out.rglob("*.jsonl"))
    print(
        f"{files} files, {size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s: {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
