"""End-to-end tooling: a local Kubernetes control plane and the tests that run on it."""
