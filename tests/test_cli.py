"""The example scripts answer a user's mistake (missing data, a damaged checkpoint, a
missing model) with one line and exit status 2; --debug shows the traceback."""
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(*args, cwd):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("command, message", [
    (lambda tmp: [EXAMPLES / "cifar10_cnn.py", "--data-dir", tmp / "none", "--epochs", "1", "--no-progress"],
     "error: CIFAR10: cifar-10-python.tar.gz is missing from"),
    (lambda tmp: [EXAMPLES / "lenet_mnist.py", "q1", "--data-dir", tmp / "none", "--no-progress"],
     "error: MNIST: train-images-idx3-ubyte.gz is missing from"),
    (lambda tmp: [EXAMPLES / "char_rnn_names.py", "sample", "--checkpoint", tmp / "damaged.npz", "--language", "Czech"],
     "error: .*damaged.npz: not a minigrad checkpoint"),
    (lambda tmp: [EXAMPLES / "gec", "evaluate", "--out", tmp / "nothing"], "error: no trained model at"),
])
def test_a_user_error_is_one_line_and_exit_status_2(tmp_path, command, message):
    import re

    (tmp_path / "damaged.npz").write_text("not a checkpoint")
    result = run(*command(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(message, lines[0]), result.stderr
    debug = run(*command(tmp_path), "--debug", cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize("script", ["cifar10_cnn.py", "lenet_mnist.py", "char_rnn_names.py", "gec"])
def test_every_flag_a_script_documents_exists(script, tmp_path):
    """The flags named in a script's docstring are flags its --help lists (a docstring once
    named a --softmax-pitfall flag that did not exist)."""
    import ast
    import re

    path = EXAMPLES / script / "cli.py" if script == "gec" else EXAMPLES / script
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", ast.get_docstring(ast.parse(path.read_text())) or ""))
    subcommands = {"char_rnn_names.py": ["train", "sample"], "gec": ["train", "evaluate", "correct"]}.get(script, [])
    helps = "".join(run(EXAMPLES / script, *([sub] if sub else ["q1"] if script == "lenet_mnist.py" else []), "--help",
                        cwd=tmp_path).stdout
                    for sub in subcommands or [None])
    missing = sorted(flag for flag in documented if flag not in helps)
    assert not missing, f"{script} documents flags its --help does not list: {missing}"


MARKDOWN = ["README.md", "examples/README.md", "exercises/README.md", "benchmarks/README.md",
            *[f"docs/{p.name}" for p in (EXAMPLES.parent / "docs").glob("*.md")]]
COMMAND = re.compile(r"(examples/[\w/]+\.py|examples/gec|benchmarks/\w+\.py|-m exercises\.grade)((?:[ \t]+[^\s`|#)]+)*)")


def documented_commands():
    """(file, script, flags) for every command line in the Markdown that names a script of ours."""
    for name in MARKDOWN:
        for script, rest in COMMAND.findall((EXAMPLES.parent / name).read_text(encoding="utf-8")):
            flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", rest))
            if flags:
                yield name, script, flags


SUBCOMMANDS = {"examples/char_rnn_names.py": ["train", "sample"], "examples/gec": ["train", "evaluate", "correct"],
               "examples/lenet_mnist.py": ["q1"]}


def help_of(script):
    """Everything ``script --help`` prints, for each of its subcommands."""
    root = EXAMPLES.parent
    command = [sys.executable, "-m", "exercises.grade"] if script == "-m exercises.grade" else [sys.executable, str(root / script)]
    return "".join(subprocess.run(command + ([sub] if sub else []) + ["--help"], capture_output=True, text=True,
                                  cwd=root, timeout=120).stdout for sub in SUBCOMMANDS.get(script, [None]))


def test_every_flag_named_in_the_markdown_is_a_flag_of_one_of_our_scripts():
    """A flag named on its own in prose (`--resume`) exists in some script's --help, or is
    run_cli's --debug (examples/README.md once named a --softmax-pitfall flag)."""
    scripts = ["examples/cifar10_cnn.py", "examples/lenet_mnist.py", "examples/char_rnn_names.py", "examples/gec",
               "benchmarks/models.py", "benchmarks/layers.py", "-m exercises.grade"]
    helps = "".join(help_of(s) for s in scripts) + " --debug"
    named = {(name, flag) for name in MARKDOWN
             for span in re.findall(r"`(--[a-z][^`]*)`", (EXAMPLES.parent / name).read_text(encoding="utf-8"))
             for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", span)}
    missing = sorted((name, flag) for name, flag in named if flag not in helps)
    assert not missing, f"flags the Markdown names that no script of ours has: {missing}"


@pytest.mark.parametrize("script", sorted({script for _, script, _ in documented_commands()}))
def test_every_flag_the_markdown_documents_exists(script, tmp_path):
    """The flags that README.md, docs/ and the other Markdown files give a script are flags its
    --help lists (docs/03 once named a --softmax-then-ce flag, examples/README.md a
    --softmax-pitfall flag, that did not exist)."""
    helps = help_of(script)
    assert "usage" in helps, f"{script} --help printed nothing"
    missing = sorted({(name, flag) for name, s, flags in documented_commands() if s == script
                      for flag in flags if flag not in helps})
    assert not missing, f"flags documented for {script} that its --help does not list: {missing}"
