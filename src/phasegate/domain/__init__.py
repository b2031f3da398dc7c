"""Pure domain: phases, enums, value objects and the error family. Standard library only."""
