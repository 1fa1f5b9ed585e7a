import os
import tempfile

import pytest

# one generated-code cache per test session, shared by the xdist workers
os.environ.setdefault("ADC_CACHE_DIR", os.path.join(tempfile.gettempdir(), "adc-test-cache"))


@pytest.fixture(params=["python", "numba"])
def backend(request):
    return request.param
