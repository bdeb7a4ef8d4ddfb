"""t-SNE's perplexity adapts to small sets; the top-activating inputs are the right ones."""

import numpy as np
import pytest

from cnnkit.errors import ConfigError
from cnnkit.explain.features import perplexity_for, top_activating


def test_perplexity_stays_below_the_number_of_points():
    assert perplexity_for(1797, None) == 30
    assert perplexity_for(20, None) == pytest.approx(19 / 3)
    assert perplexity_for(20, 5) == 5


def test_top_activating_orders_by_peak_activation():
    maps = np.zeros((4, 2, 2, 3))
    maps[2, 0, 0, 1] = 5
    maps[0, 1, 1, 1] = 3
    assert top_activating(maps, [1], 2)[1].tolist() == [2, 0]
    with pytest.raises(ConfigError, match="from 0 to 2"):
        top_activating(maps, [7], 1)
