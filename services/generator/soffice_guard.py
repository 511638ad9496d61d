"""Runs one command and takes its whole process group down with the parent.

The PDF pool starts each unoserver through this guard, in a new process
group, with a pipe on the guard's stdin. The pipe closes when the process
that started the pool dies, however it dies (SIGKILL and OOM included), and
the guard then kills unoserver and the soffice it started: a killed server
leaves no LibreOffice behind. When the command exits on its own, the group
goes down too, so the pool sees the member as dead and restarts it.

Standard library only: it runs as `python -I soffice_guard.py CMD...`.
"""
import os
import signal
import subprocess
import sys
import threading


def main() -> None:
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
    done = threading.Event()
    threading.Thread(target=lambda: (child.wait(), done.set()), daemon=True).start()

    def watch_parent() -> None:
        while sys.stdin.buffer.read(1):
            pass
        done.set()
    threading.Thread(target=watch_parent, daemon=True).start()
    done.wait()
    os.killpg(0, signal.SIGKILL)   # this guard, unoserver, oosplash and soffice.bin


if __name__ == "__main__":
    main()
