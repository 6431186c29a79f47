"""`autotask export` and `autotask sync`: the tap's data into the project's targets, for people
without Meltano. Registered on the `autotask` command through the `autotask.commands` entry
points; the targets run as processes, so nothing here imports their code."""
