"""`mfs` / `python -m mfs`: what this installation is (version, threads, CUDA)."""
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="mfs", description="libmfs: models from scratch")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("info", help="version, threads, CUDA devices, memory counters (JSON)")
    args = parser.parse_args(argv)
    import mfs
    from mfs._native import lib
    if args.cmd in (None, "info"):
        print(json.dumps({
            "version": mfs.__version__,
            "abi": int(lib.mfs_abi_version()),
            "threads": mfs.get_num_threads(),
            "built_with_cuda": bool(lib.mfs_built_with_cuda()),
            "cuda_devices": mfs.cuda_device_count(),
            "memory": mfs.memory_stats(),
        }, indent=2))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
