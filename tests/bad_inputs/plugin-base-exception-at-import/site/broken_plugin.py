class Boom(BaseException):
    pass
raise Boom('custom')
