// Backend module
