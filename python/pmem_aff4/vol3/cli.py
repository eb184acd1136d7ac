"""``pmem-aff4-vol``: Volatility 3's ``vol`` with the AFF4 layer loaded."""

import sys


def main() -> None:
    from . import plugin_dir

    try:
        import volatility3.cli
    except ImportError:
        sys.exit("pmem-aff4-vol: Volatility 3 is not installed here (pip install volatility3)")
    args = sys.argv[1:]
    # Prepend our directory to any -p/--plugin-dirs the user gave (vol takes one value,
    # ';'-separated); otherwise add one.
    for i, a in enumerate(args):
        if a in ("-p", "--plugin-dirs") and i + 1 < len(args):
            args[i + 1] = plugin_dir() + ";" + args[i + 1]
            break
        if a.startswith("--plugin-dirs="):
            args[i] = "--plugin-dirs=" + plugin_dir() + ";" + a.split("=", 1)[1]
            break
    else:
        args = ["-p", plugin_dir()] + args
    sys.argv = [sys.argv[0]] + args
    volatility3.cli.main()


if __name__ == "__main__":
    main()
