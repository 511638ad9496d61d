from tools.templates.build import main

main()
