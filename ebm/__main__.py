"""Entry point for ``python -m ebm``."""

if __name__ == "__main__":
    import sys

    from ebm.cli import main

    sys.exit(main())
