"""Every notebook of notebooks/ runs top to bottom in a Jupyter kernel, so none can rot.

Each runs in a kernel of this interpreter (ipykernel's ``python3``), which starts a Spark JVM of
its own, from the notebook's folder as Jupyter starts it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.spark

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 300


def test_there_are_notebooks_and_they_are_committed_without_outputs() -> None:
    import nbformat

    assert NOTEBOOKS, "notebooks/ has no notebook"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        run = [
            index
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
        ]
        assert not run, f"{path.name}: clear the outputs of cells {run} before committing"


def execute(notebook, folder: Path) -> None:
    """Run ``notebook`` in a kernel of this interpreter started in ``folder``; CellExecutionError
    (the cell and its traceback) on any cell's error."""
    from nbclient import NotebookClient

    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_runs_without_an_error(path: Path) -> None:
    """The whole notebook, from its folder (where Jupyter starts its kernel)."""
    import nbformat

    execute(nbformat.read(path, as_version=4), path.parent)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_finds_the_checkout_from_the_root_too(path: Path) -> None:
    """Its first code cell (finding the checkout, setting DATASHARK_HOME), from the checkout's
    root: the rest is the same from either folder, and costs a Spark start."""
    import nbformat
    from nbformat.v4 import new_code_cell

    notebook = nbformat.read(path, as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    check = f"assert os.environ['DATASHARK_HOME'] == {str(REPO)!r}, os.environ['DATASHARK_HOME']"
    notebook.cells = [setup, new_code_cell(check)]
    execute(notebook, REPO)
