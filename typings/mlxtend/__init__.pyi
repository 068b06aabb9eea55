# Minimal stubs for the parts of mlxtend that fmlp's examples use (it ships no types).
