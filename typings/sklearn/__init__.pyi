# Minimal stubs for the parts of scikit-learn that fmlp's examples use (it ships no types).
