"""Ctrl-C that stops a training loop between two steps, never inside one."""
import contextlib
import signal
import threading


@contextlib.contextmanager
def finishing_the_step_on_ctrl_c():
    """Inside, a Ctrl-C (SIGINT) ends the training after the step it came in, which the loop
    then saves: a step cut in half would leave the weights half updated. A second Ctrl-C
    stops at once. Yields a function that says whether one came."""
    came, previous = [], signal.getsignal(signal.SIGINT)
    main_thread = threading.current_thread() is threading.main_thread()  # (signals reach only that one)

    def handler(signum, frame):
        came.append(signum)
        signal.signal(signal.SIGINT, previous)

    if main_thread:
        signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(came)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
