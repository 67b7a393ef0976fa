"""The checks of arguments that several commands share: an output directory must be
writable, and trying it leaves nothing behind."""

from pathlib import Path

import pytest

from sim.arguments import check_output_dir
from sim.errors import UserError


def test_check_output_dir_leaves_nothing_behind(tmp_path):
    check_output_dir(tmp_path / "a" / "b", "hydra.run.dir")  # can be made: fine, not made
    check_output_dir(tmp_path, "hydra.run.dir")  # exists and writable
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only directories")
def test_a_read_only_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(UserError, match="cannot"):
        check_output_dir(locked / "run", "hydra.run.dir")
    with pytest.raises(UserError, match=r"(?i)cannot write there \(permission denied\)"):
        check_output_dir(locked, "hydra.run.dir")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc (not Linux)")
def test_a_directory_no_one_can_write_is_refused_even_for_root():
    # root passes every permission bit: only trying to write shows that /proc takes no folder
    with pytest.raises(UserError, match="^--out=/proc: cannot write there"):
        check_output_dir("/proc", "--out")

