import NodeAgent
print("embedded node example")
