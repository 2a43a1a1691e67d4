from preserve.cli.main import main

main()
