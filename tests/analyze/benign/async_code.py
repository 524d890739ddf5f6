import asyncio


async def fetch(n):
    await asyncio.sleep(0.01)
    return f"result {n}: no eval() here"


async def main():
    async with asyncio.timeout(5):
        results = await asyncio.gather(*(fetch(i) for i in range(3)))
    for r in results:
        print(r)


asyncio.run(main())
