"""The errors every command shares: one line, naming what the user typed."""

import pytest

from sim.errors import OneLineParser


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="tool")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--out-dir")
    return parser


@pytest.mark.parametrize("args, line", [
    # argparse said only "the following arguments are required: RUN_DIR" of a mistyped flag
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--outdir=x", "-q"], "unrecognized arguments: --outdir=x -q"),
    ([], "the following arguments are required: RUN_DIR"),
    (["--out", "x"], "the following arguments are required: RUN_DIR"),  # an abbreviation
    (["--out-dir", "-5"], "the following arguments are required: RUN_DIR"),  # a negative value
])
def test_an_option_not_taken_is_named_before_a_missing_argument(args, line, capsys):
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(args)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"tool: error: {line} (see --help)\n"
