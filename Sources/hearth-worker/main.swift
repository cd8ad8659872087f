print("hearth-worker")
