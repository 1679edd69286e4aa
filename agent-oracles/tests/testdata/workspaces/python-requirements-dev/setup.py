from setuptools import setup
setup(name="reqdev")
