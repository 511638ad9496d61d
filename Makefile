.PHONY: setup run test bench clean

setup:
	./deploy/setup.sh

run: setup
	.venv/bin/zhifa run

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	.venv/bin/python bench/generator.py

clean:
	rm -rf .venv build var
