"""The core: what every capability of egov stands on, importing nothing else of egov.

- `model`: the estate as immutable pydantic models (one file per concern);
- `loader`, `sources`, `rules`: YAML files -> models -> every cross-file rule, problems with
  file and line (`load_estate` is the only way commands get an estate);
- `topology`: each network device's intent, derived deterministically from the estate;
- `paths`: the state dir's layout and where egov's shipped content is;
- `state`: the runtime state DR actions write (current primaries, endpoint, fenced);
- `journal`: the hash-chained record of every change; `secrets`: generated secrets (0600);
- `errors`: one-line operator errors with exit codes;
- `summary` (`egov show`) and `scaffold` (a new estate from a few numbers).
"""
