"""``python -m sandbox`` (and ``hrbridge sandbox``): run the local sandboxes until Ctrl-C.

Starts the SuccessFactors OData v2 sandbox and, when :mod:`sandbox.interview` is present, the
interview platform sandbox; prints their URLs, credentials and the environment variables the
``hrbridge`` commands read.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``python -m sandbox`` and ``hrbridge sandbox``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback only)")
    parser.add_argument("--sf-port", type=int, default=8081, help="SuccessFactors sandbox port (0 = any free port)")
    parser.add_argument("--interview-port", type=int, default=8082, help="interview platform sandbox port (0 = any)")
    parser.add_argument("--candidates", type=int, default=60, help="seeded candidates (default 60)")
    parser.add_argument("--applications", type=int, default=80, help="seeded applications (default 80)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated data")
    parser.add_argument("--page-size", type=int, default=100, help="SuccessFactors server page size (default 100)")
    parser.add_argument("--also", default="", metavar="NAMES",
                        help="further HR source sandboxes on free ports, comma-separated: greenhouse, personio")
    parser.add_argument("--sf-entity-metadata", choices=("served", "missing", "not-xml"), default="served",
                        help="how <Entity>/$metadata is answered: served (default), missing (404) or not-xml "
                             "(a SuccessFactors-compatible service without per-entity metadata)")


def start_sandboxes(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """Start the sandboxes described by ``args``; returns (name, server) pairs, already serving."""
    from sandbox.successfactors import SuccessFactorsSandbox

    for name in ("candidates", "applications", "page_size"):
        if getattr(args, name) < (1 if name == "page_size" else 0):
            raise ValueError(f"--{name.replace('_', '-')} must not be negative (page size at least 1)")
    servers: list[tuple[str, Any]] = [("successfactors", SuccessFactorsSandbox(
        args.host, args.sf_port, seed=args.seed, candidates=args.candidates,
        applications=args.applications, page_size=args.page_size,
        entity_metadata=getattr(args, "sf_entity_metadata", "served")).start())]
    try:
        interview = importlib.import_module("sandbox.interview")
    except ImportError:
        interview = None
    extra = {"greenhouse": ("sandbox.greenhouse", "GreenhouseSandbox"), "personio": ("sandbox.personio", "PersonioSandbox")}
    for name in [n.strip() for n in (getattr(args, "also", "") or "").split(",") if n.strip()]:
        if name not in extra:
            for _, server in servers:
                server.stop()
            raise ValueError(f"--also {name!r}: use {', '.join(extra)}")
        module, cls = extra[name]
        servers.append((name, getattr(importlib.import_module(module), cls)(args.host, 0, seed=args.seed).start()))
    if interview is not None and hasattr(interview, "InterviewPlatformSandbox"):
        try:
            servers.append(("interview", interview.InterviewPlatformSandbox(args.host, args.interview_port).start()))
        except OSError:
            for _, server in servers:
                server.stop()
            raise
    return servers


def describe(servers: list[tuple[str, Any]]) -> str:
    """Human-readable URLs, credentials and environment variables of running sandboxes."""
    from sandbox.successfactors import DEFAULT_CLIENTS, DEFAULT_USERS

    lines = []
    user, password = next(iter(DEFAULT_USERS.items()))
    login, company = user.split("@", 1)
    client = next(iter(DEFAULT_CLIENTS))
    for name, server in servers:
        if name == "successfactors":
            lines += [f"SuccessFactors OData v2 sandbox: {server.url}/odata/v2/",
                      f"  Basic auth: {user} / {password}   OAuth SAML-bearer: client_id {client}, company_id {company}",
                      f"  export HRBRIDGE_SF_URL={server.url} HRBRIDGE_SF_USER={login} "
                      f"HRBRIDGE_SF_COMPANY_ID={company} HRBRIDGE_SF_PASSWORD={password}"]
        elif name == "greenhouse":
            gh_client, gh_secret = next(iter(server.clients.items()))
            lines += [f"Greenhouse Harvest v3 sandbox: {server.url}/v3/  (token: POST {server.url}/token)",
                      f"  export HRBRIDGE_GREENHOUSE_URL={server.url} HRBRIDGE_GREENHOUSE_CLIENT_ID={gh_client} "
                      f"HRBRIDGE_GREENHOUSE_CLIENT_SECRET={gh_secret} HRBRIDGE_GREENHOUSE_USER_ID=4080"]
        elif name == "personio":
            p_client, p_secret = next(iter(server.clients.items()))
            lines += [f"Personio recruiting v2 sandbox: {server.url}/v2/recruiting/",
                      f"  export HRBRIDGE_PERSONIO_URL={server.url} HRBRIDGE_PERSONIO_CLIENT_ID={p_client} "
                      f"HRBRIDGE_PERSONIO_CLIENT_SECRET={p_secret}"]
        else:
            key = getattr(server, "api_key", "")
            lines += [f"Interview platform sandbox: {server.url}",
                      f"  API key (Bearer): {key}",
                      f"  export HRBRIDGE_INTERVIEW_URL={server.url} HRBRIDGE_INTERVIEW_API_KEY={key}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Start, print, and block until Ctrl-C or SIGTERM; then stop every sandbox."""
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            print(f"warning: binding {args.host} exposes sandboxes with fixed, published credentials",
                  file=sys.stderr)
    except ValueError:
        pass
    stopped = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # Installed before anything is printed, so a signal sent as soon as the URLs appear is never
        # lost. SIGINT too, explicitly: a process started in the background (or by a parent that
        # ignores Ctrl-C) inherits an ignored SIGINT, and would otherwise never stop on Ctrl-C.
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stopped.set())
    try:
        servers = start_sandboxes(args)
    except (OSError, ValueError) as exc:
        print(f"sandbox: cannot start: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    print(describe(servers))
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for _, server in servers:
            server.stop()
    print("sandboxes stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sandbox``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
