.PHONY: demo test

# Set up a fresh Debian machine and run the example skill end to end.
demo:
	bash scripts/demo.sh

# Set up a fresh Debian machine and run the Rust and Python tests.
test:
	bash scripts/test.sh
