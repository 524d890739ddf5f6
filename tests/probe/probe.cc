// Placeholder probe; replaced by the real one with the core sandbox.
int main() { return 0; }
