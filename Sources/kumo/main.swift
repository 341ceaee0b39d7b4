import KumoCLI

await Kumo.start()
