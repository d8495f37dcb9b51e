import subprocess
import sys
import textwrap


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


def test_settle_freezes_what_is_alive_and_again_at_exit():
    """What exists at set-up leaves the collector's generations; so does what a run creates
    afterwards, by the time the interpreter's last collection would walk it."""
    out = run_python("""
        import atexit, gc
        # registered first, so it runs after settle's own exit hook (atexit is last-in,
        # first-out): it sees what the interpreter's final collection would see
        atexit.register(lambda: print("at exit", gc.get_freeze_count(), gc.get_count()[0]))
        from newsflow.transforms.heap import settle
        settle()
        print("after settle", gc.get_freeze_count())
        made_later = [[index] for index in range(50_000)]
        """)
    after, at_exit = out.splitlines()
    frozen_at_setup = int(after.split()[-1])
    frozen_at_exit, young = map(int, at_exit.split()[2:])
    assert frozen_at_setup > 1000  # the modules imported so far
    assert frozen_at_exit - frozen_at_setup > 49_000  # the 50,000 lists made after set-up
    assert young == 0


def test_settle_registers_one_exit_hook_however_often_it_runs():
    out = run_python("""
        import atexit
        before = atexit._ncallbacks()
        from newsflow.transforms.heap import settle
        for _ in range(5):
            settle()
        print(atexit._ncallbacks() - before)
        """)
    assert out.split()[-1] == "1"
