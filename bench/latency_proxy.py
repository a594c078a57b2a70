#!/usr/bin/env python3
# latency_proxy.py: a TCP proxy on 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT that holds
# every chunk DELAY seconds in each direction, keeping each direction's order: a database on
# another host, for a bench on one machine without tc netem (docs/benchmarks.md).
# Usage: bench/latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS   (e.g. 40111 5432 0.0004)
# then point GB_BENCH_DB_URL at LISTEN_PORT.
import asyncio
import sys
import time

LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])


async def pipe(reader, writer):
    """Copies reader to writer, each chunk written DELAY after it was read."""
    queue = asyncio.Queue()

    async def pump():
        while True:
            read_at, data = await queue.get()
            if data is None:
                writer.close()
                return
            wait = read_at + DELAY - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    task = asyncio.create_task(pump())
    while True:
        data = await reader.read(65536)
        await queue.put((time.monotonic(), data or None))
        if not data:
            break
    await task


async def handle(client_r, client_w):
    server_r, server_w = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w),
                         return_exceptions=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
