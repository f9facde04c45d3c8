"""The stages that need torch, one module each, each writing into a fresh directory that the cache
publishes: train -> probe -> render. Imports only go down the pipeline; build.py imports them on a
cache miss only, so warm builds never import torch."""
