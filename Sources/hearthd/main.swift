print("hearthd")
