"""Print the third-party requirements of the given pyproject.toml files, one per line.

The image build installs them in a layer of their own, before copying the sources, so
that layer is rebuilt only when a pyproject.toml or constraints.txt changes. Runs with the
base image's python3 (standard library only).
"""

import sys
import tomllib

for path in sys.argv[1:]:
    with open(path, "rb") as pyproject:
        for requirement in tomllib.load(pyproject)["project"].get("dependencies", []):
            # The monorepo's own libraries are installed from source afterwards.
            if not requirement.startswith("jmmc-"):
                print(requirement)
