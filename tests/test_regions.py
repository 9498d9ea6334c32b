"""Regions: the shipped demo regions, adding one from a user's OSM file, and the network cache."""

import bz2
import shutil

import pytest

from geo.osm import OsmSourceError
from geo.regions import (
    RegionError,
    add_region,
    default_region,
    get_region,
    list_regions,
    load_networks,
    network_cache_path,
)
from tests.support import SMALL


def test_the_demo_regions_are_nanjing_by_default_and_jinan():
    assert [r.id for r in list_regions()] == ["jinan", "nanjing"]
    assert default_region().id == "nanjing"
    nanjing = get_region("nanjing")
    assert nanjing.demo and nanjing.modes == ("walk", "ebike", "truck")
    assert nanjing.source.is_file() and "OpenStreetMap" in nanjing.attribution
    assert (nanjing.source.parent / "ATTRIBUTION.md").is_file()
    assert (get_region("jinan").source.parent / "ATTRIBUTION.md").is_file()


def test_an_unknown_region_is_named_with_the_known_ones():
    with pytest.raises(RegionError, match="unknown region 'atlantis'.*jinan, nanjing"):
        get_region("atlantis")


def test_networks_are_built_once_then_read_from_the_cache(fresh_instance):
    nanjing = get_region("nanjing")
    steps = []
    built = load_networks(nanjing, ("walk", "truck"), progress=lambda *step: steps.append(step))
    assert steps and all(network_cache_path(nanjing, m).is_file() for m in ("walk", "truck"))
    steps.clear()
    again = load_networks(nanjing, ("walk", "truck"), progress=lambda *step: steps.append(step))
    assert steps == []
    assert again["walk"].n_edges == built["walk"].n_edges


def test_asking_for_a_mode_the_region_lacks_is_an_error(fresh_instance):
    add_region("tiny", SMALL, modes=("walk",))
    with pytest.raises(RegionError, match="no 'truck' network"):
        load_networks(get_region("tiny"), ("truck",))


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2", ".osm.pbf"])
def test_a_region_is_added_from_any_osm_file(fresh_instance, tmp_path, suffix):
    source = tmp_path / f"town{suffix}"
    if suffix == ".osm":
        shutil.copyfile(SMALL, source)
    elif suffix == ".osm.bz2":
        source.write_bytes(bz2.compress(SMALL.read_bytes()))
    else:
        import osmium

        with osmium.SimpleWriter(str(source)) as writer:
            for obj in osmium.FileProcessor(str(SMALL)):
                writer.add(obj)
    region = add_region("town", source, name="小镇")
    assert [r.id for r in list_regions()][-1] == "town"
    assert region.name == "小镇" and not region.demo
    networks = load_networks(region)
    assert set(networks) == {"walk", "ebike", "truck"}
    assert all(network_cache_path(region, m).is_file() for m in networks)


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"<osm version='0.6'><node id='1' lat='32' lo", "cannot read OSM file"),
    (b"<?xml version='1.0'?><osm version='0.6'><node id='1' lat='32.0' lon='118.0'/></osm>",
     "no usable highway"),
])
def test_a_bad_file_is_refused_and_leaves_the_regions_as_they_were(
        fresh_instance, tmp_path, content, message):
    add_region("good", SMALL)
    before = sorted(p.name for p in (fresh_instance / "regions").iterdir())
    bad = tmp_path / "bad.osm"
    bad.write_bytes(content)
    with pytest.raises(OsmSourceError, match=message) as error:
        add_region("bad", bad)
    assert str(bad) in str(error.value)
    assert sorted(p.name for p in (fresh_instance / "regions").iterdir()) == before
    assert [r.id for r in list_regions()][-1] == "good"


def test_region_ids_files_and_duplicates_are_checked(fresh_instance, tmp_path):
    with pytest.raises(RegionError, match="must start with a lowercase letter"):
        add_region("Bad Name", SMALL)
    with pytest.raises(RegionError, match="already exists"):
        add_region("nanjing", SMALL)
    with pytest.raises(RegionError, match="no such file"):
        add_region("ghost", tmp_path / "missing.osm")
    text = tmp_path / "roads.txt"
    text.write_text("not osm")
    with pytest.raises(RegionError, match="unsupported file type"):
        add_region("text", text)
