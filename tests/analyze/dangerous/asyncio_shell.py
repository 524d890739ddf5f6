# asyncio.create_subprocess_shell with a computed command.
# expect: subprocess_shell@9

import asyncio
import sys


async def main(arg):
    proc = await asyncio.create_subprocess_shell("convert " + arg + " out.png")
    await proc.wait()


asyncio.run(main(sys.argv[1]))
