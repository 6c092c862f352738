from ksi_patterns.cli.app import main

main()
