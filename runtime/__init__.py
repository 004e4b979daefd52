"""The synth runtime main.py imports: the fast import, the framework choice, the project's Node, the synth report."""
