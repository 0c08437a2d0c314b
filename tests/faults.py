"""A TCP fault proxy: a real server behind a loopback port that a test switches between faults.

Tests of fault tolerance need faults at the network level, where the service under test meets them in
production: a refused connection, a peer that accepts and never answers, a slow answer, a connection reset
halfway through an answer. `FaultProxy` listens on an ephemeral port of 127.0.0.1 and forwards every byte to
its target (an HTTP service, PostgreSQL: it does not care), until the test says otherwise:

- `passing()`: forward both ways;
- `refusing()`: close the listening socket, so connections are refused (and cut the ones open);
- `blackholing()`: accept, read and discard, never answer;
- `delaying(ms)`: forward, but hold every piece of the answer back for `ms` milliseconds;
- `resetting()`: forward the request and the head of the answer, then reset the connection (RST);
- `script(*faults)`: the next connections, one fault each, before the standing mode applies again.

Switching the mode cuts the connections open (a client's pooled connection meets the new fault, as it would
when a server goes down). `accepted` counts connections: with a fresh connection per attempt after a fault,
that is the number of attempts a client made.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Final

CHUNK: Final = 64 * 1024


class Fault(Enum):
    """What the proxy does to a connection."""

    PASS = "pass"
    BLACKHOLE = "blackhole"
    DELAY = "delay"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class Mode:
    """A fault and, for DELAY, how long the answer is held back."""

    fault: Fault
    delay_ms: int = 0


class FaultProxy:
    """Forwards 127.0.0.1:<port> to `target_host:target_port`, with the faults a test switches on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = Mode(Fault.PASS)
        self.accepted = 0
        """Connections accepted so far."""
        self._script: deque[Mode] = deque()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, for an HTTP target."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        """Listen (on an ephemeral port the first time, on the same port afterwards)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and cut every connection."""
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def passing(self) -> None:
        """Forward everything (listening again if the proxy was refusing)."""
        await self._switch(Mode(Fault.PASS))

    async def refusing(self) -> None:
        """Refuse connections: nothing listens on the port any more."""
        self.mode = Mode(Fault.PASS)
        self._script.clear()
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def blackholing(self) -> None:
        """Accept connections and never answer."""
        await self._switch(Mode(Fault.BLACKHOLE))

    async def delaying(self, ms: int) -> None:
        """Forward, holding every answer back for `ms` milliseconds."""
        await self._switch(Mode(Fault.DELAY, ms))

    async def resetting(self) -> None:
        """Forward requests, and reset each connection halfway through its answer."""
        await self._switch(Mode(Fault.RESET))

    def script(self, *faults: Mode) -> None:
        """Apply `faults` to the next connections, one each, in order; then the standing mode again."""
        self._script.extend(faults)

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        self._script.clear()
        self._cut()
        if self._server is None:
            await self.start()

    def _cut(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        mode = self._script.popleft() if self._script else self.mode
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            if mode.fault is Fault.BLACKHOLE:
                while await reader.read(CHUNK):
                    pass
                return
            await self._forward(reader, writer, mode)
        except (ConnectionError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: Mode) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        self._writers.add(up_writer)
        requests = asyncio.ensure_future(_pump(reader, up_writer))
        try:
            await self._answer(up_reader, writer, mode)
        finally:
            requests.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await requests
            self._writers.discard(up_writer)
            up_writer.close()

    async def _answer(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: Mode
    ) -> None:
        """Copy the target's answer back, applying the fault."""
        if mode.fault is Fault.DELAY:
            await _pump(up_reader, writer, delay=mode.delay_ms / 1000)
            return
        if mode.fault is Fault.RESET:
            head = await _read_head(up_reader)
            # The head of the answer and a few bytes of its body, then a reset: the client has started
            # reading the answer and loses the rest.
            writer.write(head + await up_reader.read(8))
            await writer.drain()
            _reset(writer)
            return
        await _pump(up_reader, writer)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delay: float = 0.0) -> None:
    """Copy `reader` into `writer` until end of stream (holding each piece back `delay` seconds), then
    half-close `writer`."""
    while data := await reader.read(CHUNK):
        if delay:
            await asyncio.sleep(delay)
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """An HTTP answer's status line and headers (up to the blank line), or what came before the stream ended."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), not an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
