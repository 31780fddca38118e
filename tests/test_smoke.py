def test_network_fixture_builds_groups(network):
    de = network["people"]["de_analyst"]
    names = set(de.groups.values_list("name", flat=True))
    assert {"org:de-csirt", "ms:DE", "role:analyst", "community:csirts-network"} <= names
