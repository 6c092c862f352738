"""Tool-call latency of `ksi mcp` over stdio, beside the same operation through the CLI.

What is measured, in one run, on a fresh `ksi registry init` registry:
- MCP: one `ksi mcp --registry R` spawned over stdio by the SDK's own client (ClientSession), kept
  for the whole run; each tool call (`show`, `discover`, `track_decision`) timed from the request
  to its result. The session's start (spawn, SDK import, initialize) is timed once, apart.
- CLI: `ksi pattern show`, `ksi pattern discover`, `ksi pattern track-decision`, each a fresh
  process (start-up and imports included: what a host that shells out to `ksi` would pay).

Runs are interleaved (mcp show, cli show, mcp discover, ...) so that load drift falls on both
alike. Medians and p95 (`statistics.quantiles(n=20, method="inclusive")`) per operation.

    python benchmarks/mcp_latency.py [--quick] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import Implementation

from _common import Command, bench_env, ksi_argv, machine_line, ms, run_once, workspace

PATTERN = "adaptive_tournament_v2"


@asynccontextmanager
async def _session(params: StdioServerParameters, errlog: Any) -> Any:
    async with stdio_client(params, errlog=errlog) as (read, write):
        info = Implementation(name="bench", version="0")
        async with ClientSession(read, write, client_info=info) as session:
            await session.initialize()
            yield session


@contextmanager
def mcp_session(
    registry: Path, env: dict[str, str], log: Path
) -> Iterator[tuple[BlockingPortal, ClientSession, float]]:
    """A stdio session with `ksi mcp`, and how long it took to be ready."""
    argv = [*ksi_argv(), "mcp", "--registry", str(registry)]
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    with log.open("w") as errors, start_blocking_portal() as portal:
        start = time.perf_counter()
        with portal.wrap_async_context_manager(_session(params, errors)) as session:
            yield portal, session, time.perf_counter() - start


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def measure(
    portal: BlockingPortal, session: ClientSession, registry: Path, env: dict[str, str], runs: int
) -> dict[tuple[str, str], list[float]]:
    """{(operation, face): seconds per call}, interleaved."""
    times: dict[tuple[str, str], list[float]] = {}

    def tool(name: str, arguments: dict[str, Any]) -> Callable[[], None]:
        def call() -> None:
            result = portal.call(session.call_tool, name, arguments)
            if result.is_error:
                raise SystemExit(f"{name} failed: {result.content}")

        return call

    r = ["--registry", str(registry)]
    for index in range(-1, runs):  # run -1 warms both up, untimed
        decision = f"bench_{index + 1}"
        cases = [
            ("show", tool("show", {"name": PATTERN}), ["pattern", "show", PATTERN, *r]),
            ("discover", tool("discover", {}), ["pattern", "discover", "--json", *r]),
            (
                "track_decision",
                tool("track_decision", {"pattern": PATTERN, "decision": f"mcp_{decision}"}),
                ["pattern", "track-decision", PATTERN, "--decision", f"cli_{decision}", *r],
            ),
        ]
        for operation, call, cli in cases:
            start = time.perf_counter()
            call()
            elapsed = time.perf_counter() - start
            whole, _cpu, _done = run_once(
                Command(f"ksi {operation}", [*ksi_argv(), *cli]), env=env, cwd=registry
            )
            if index >= 0:
                times.setdefault((operation, "mcp"), []).append(elapsed)
                times.setdefault((operation, "cli"), []).append(whole)
    return times


def report(times: dict[tuple[str, str], list[float]], ready: float, runs: int) -> None:
    print(machine_line())
    print(f"{runs} calls each; MCP session ready (spawn, imports, initialize) in {ms(ready)}\n")
    header = ["operation", "mcp median", "mcp p95", "cli median", "cli p95", "cli/mcp"]
    rows = []
    for operation in ("show", "discover", "track_decision"):
        mcp, cli = times[(operation, "mcp")], times[(operation, "cli")]
        ratio = statistics.median(cli) / statistics.median(mcp)
        rows.append(
            [operation, ms(statistics.median(mcp)), ms(p95(mcp)), ms(statistics.median(cli)),
             ms(p95(cli)), f"{ratio:.1f}x"]
        )  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                        enumerate(zip(row, widths, strict=True))))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 calls each instead of 30")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    options = parser.parse_args()
    runs = options.runs or (10 if options.quick else 30)
    with workspace("mcp-latency", keep=options.keep) as folder:
        env = bench_env(folder)
        registry = folder / "registry"
        subprocess.run([*ksi_argv(), "registry", "init", str(registry)], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        with mcp_session(registry, env, folder / "mcp.log") as (portal, session, ready):
            times = measure(portal, session, registry, env, runs)
        report(times, ready, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
