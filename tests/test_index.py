"""layers.index: selections, and replaced layer versions leaving memory with their index."""

import gc
import weakref

from layers.catalog import Catalog
from layers.load import read_layer
from layers.registry import get
from layers.store import Store

from .conftest import feature_collection, point

DINING = get("outdoor_dining_pilots")


def layer_of(features):
    return read_layer(feature_collection(features).encode(), DINING, source="test.geojson")


def test_a_replaced_version_is_garbage_collected_with_its_index(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/store.sqlite")
    store.upgrade()
    store.publish(layer_of([point("a", 120.38, 36.07), point("b", 120.39, 36.07, district="市北区")]), author="t")
    catalog = Catalog.from_store(store, (DINING,))
    old = catalog.get(DINING.id)
    assert old.index.select(filters={"district": "市北区"}).tolist() == [1]  # builds the inverted index
    refs = [weakref.ref(old), weakref.ref(old.layer), weakref.ref(old.index)]
    del old
    store.publish(layer_of([point("c", 120.40, 36.07, district="市北区")]), author="t")
    assert catalog.refresh(store, (DINING,)) == [DINING.id]
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    assert catalog.get(DINING.id).index.select(filters={"district": "市北区"}).tolist() == [0]
    store.engine.dispose()


def test_inverted_indexes_are_per_index():
    one = Catalog.from_layers([layer_of([point("a", 120.38, 36.07)])]).get(DINING.id).index
    two = Catalog.from_layers([layer_of([point("b", 120.38, 36.07, district="市北区")])]).get(DINING.id).index
    assert one.select(filters={"district": "市南区"}).tolist() == [0]
    assert two.select(filters={"district": "市南区"}).tolist() == []
