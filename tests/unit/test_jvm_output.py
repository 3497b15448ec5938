"""The JVM's stderr reaches the user without the start-up lines that ask nothing of them."""

from __future__ import annotations

import io

from datashark.run import jvm_output


def test_only_the_noise_lines_are_dropped(capsysbinary):
    jvm = io.BytesIO(
        b"WARNING: Using incubator modules: jdk.incubator.vector\n"
        b"26/12/02 13:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library\n"
        b"netlib-blas: dlopen(libblas.so.3) failed: libblas.so.3: cannot open shared object file\n"
        b"netlib-lapack: dlopen(liblapack.so.3) failed\n"
        b"an error the user must see\n"
    )
    jvm_output.forward(jvm)
    assert capsysbinary.readouterr().err == (
        b"26/12/02 13:00:00 WARN NativeCodeLoader: Unable to load native-hadoop library\n"
        b"an error the user must see\n"
    )
