"""The engine: loaded voice models, their batching stages and the registry that swaps them.

It knows nothing of HTTP. ``synthesis`` drives it; it drives ``gpt_sovits``.

- :mod:`.queue`: the waiting entries of one stage and how a batch is taken from them.
- :mod:`.batcher`: one stage's loop, grouping submissions into batches run off the event loop.
- :mod:`.model`: one loaded model (GPT and SoVITS stages) and the lease a request holds on it.
- :mod:`.registry`: the models by name; loading, swapping and retiring them.
"""
