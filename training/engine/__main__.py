"""`python -m training.engine run SPEC | tiny-model FOLDER [--texts FILE] | convert-gguf GGUF FOLDER`."""

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.engine")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one job from its spec.json")
    run.add_argument("spec")
    tiny = commands.add_parser("tiny-model", help="write a tiny random causal LM with its tokenizer")
    tiny.add_argument("folder")
    tiny.add_argument("--texts", help="a file of texts, one per line, to train the tokenizer on")
    tiny.add_argument("--seed", type=int, default=0)
    convert = commands.add_parser("convert-gguf", help="turn a GGUF file into a save_pretrained folder")
    convert.add_argument("gguf")
    convert.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "run":
        from .run import main as run_main

        return run_main([args.spec])
    if args.command == "tiny-model":
        from .tiny import create_tiny_model

        texts = Path(args.texts).read_text(encoding="utf-8").splitlines() if args.texts else []
        info = create_tiny_model(Path(args.folder), texts, seed=args.seed)
    else:
        from .builtin import convert_gguf

        info = convert_gguf(Path(args.gguf), Path(args.folder))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
