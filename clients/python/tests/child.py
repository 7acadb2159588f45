"""A helper process the tests drive with one JSON object per line on its standard input, answered by one per line
on its standard output (engine_peer.py, pd_peer.py)."""
import json
import subprocess


class Child:
    def __init__(self, command, env=None):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.reply()

    def reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.process.args} exited with {self.process.wait(timeout=10)}")
        return json.loads(line)

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=20)
