"""Python source to the checked, desugared AST and then to SSA IR."""
