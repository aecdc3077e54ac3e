"""ImageNet-1k label hierarchy from WordNet 3.0: derivation script, cut rule and committed table."""
