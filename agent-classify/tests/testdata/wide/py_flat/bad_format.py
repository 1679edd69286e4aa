def  spaced( a,b ):
    return {'a':a,
        'b':b}
